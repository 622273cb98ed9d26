#!/bin/bash
# deb/rpm post-remove: the two links after-install.sh made, only if they still point into the app.
for link in '/usr/bin/${executable}' '/usr/bin/loopstudio'; do
  case "$(readlink "$link" 2>/dev/null)" in
    '/opt/${sanitizedProductName}/'*) rm -f "$link" ;;
  esac
done
