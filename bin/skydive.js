#!/usr/bin/env node
// Launcher: runs the compiled CLI (npm run build produces dist/).
import '../dist/src/cli.js';
