#!/usr/bin/env -S node --max-semi-space-size=4
import { importMain } from '../dist/cli/main.js';

await importMain(process.argv);
