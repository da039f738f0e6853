#!/usr/bin/env node
// Thin launcher kept in git (with its executable bit); the program is the build in dist/.
import '../dist/main.js';
