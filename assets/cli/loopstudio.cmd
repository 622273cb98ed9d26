@echo off
rem `loopstudio` from the Windows install: Loopback Studio's own binary, run as Node, runs the bundled CLI.
rem Add this folder (<install dir>\resources\bin) to PATH to use it from any terminal.
setlocal
set ELECTRON_RUN_AS_NODE=1
"%~dp0..\..\Loopback Studio.exe" "%~dp0..\app.asar.unpacked\bin\loopstudio.cjs" %*
