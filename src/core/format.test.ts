import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDateTime, formatPercent } from './format.js';

describe('format', () => {
  it('formats bytes in binary units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(12.3 * 1024 * 1024), '12.3 MB');
  });
  it('formats percentages with one decimal', () => {
    assert.equal(formatPercent(0.728), '72.8%');
  });
  it('formats local date-times as the SOP prints them', () => {
    assert.equal(formatDateTime(new Date(2026, 1, 7, 2, 0, 15)), '2026-02-07 02:00:15');
  });
});
