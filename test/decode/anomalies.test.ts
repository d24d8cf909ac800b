/** The anomaly list: every name documented with its numbers, messages made only at the edge. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANOMALIES, anomalyMessage } from '../../src/decode/anomalies';
import { decode, patch, PKT } from './packets';

test('every anomaly is documented with both of its numbers', () => {
  for (const [name, text] of Object.entries(ANOMALIES)) {
    assert.match(name, /^[a-z][A-Za-z0-9]+$/);
    assert.ok(text.includes('{value}') && text.includes('{limit}'), name);
  }
});

test('the message carries the numbers the decoder left in the view', () => {
  const { view } = decode(patch(PKT.synEth, 34 + 12, 0x30));
  assert.equal(
    anomalyMessage(view.anomaly, view.anomalyValue, view.anomalyLimit),
    'badTcpDataOffset: TCP data offset 3 < 5 (header shorter than 20 bytes)',
  );
  assert.equal(anomalyMessage('somethingNew', 1, 2), 'somethingNew (1, 2)');
});
