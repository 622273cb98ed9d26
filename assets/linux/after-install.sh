#!/bin/bash
# deb/rpm post-install (electron-builder fills in ${executable} and ${sanitizedProductName}).
# Links the app and the `loopstudio` command into /usr/bin: the command is assets/cli/loopstudio,
# which runs the app's binary as Node on the bundled CLI (docs/ARCHITECTURE.md, "Built code").
app_dir='/opt/${sanitizedProductName}'
ln -sf "$app_dir/${executable}" '/usr/bin/${executable}'
ln -sf "$app_dir/resources/bin/loopstudio" '/usr/bin/loopstudio'

# Chromium's sandbox helper needs setuid only where unprivileged user namespaces are unavailable.
if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
  chmod 0755 "$app_dir/chrome-sandbox" || true
else
  chmod 4755 "$app_dir/chrome-sandbox" || true
fi

if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database /usr/share/applications || true
fi
