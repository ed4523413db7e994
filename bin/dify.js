#!/usr/bin/env node
// Launcher: everything lives in the built bundle.
import { run } from '../dist/dify.js';

process.exitCode = await run(process.argv);
