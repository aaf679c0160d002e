#!/usr/bin/env -S node --max-semi-space-size=4
import { importMain } from '../dist/bundle/main.js';

await importMain(process.argv);
