import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpResponse } from '../writeback/triageResults';
import { spawnService } from './serviceProcess';
it('mem', async () => {
  const child = spawnService({ DATA_DIR: mkdtempSync(join(tmpdir(), 'hip-mem-')), RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
  const base = `http://127.0.0.1:${await child.listening}`;
  const heap = async () => { const t = await (await fetch(`${base}/metrics`)).text(); return Math.round(Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(t)?.[1]) / 1e6); };
  const body = JSON.stringify(gpResponse('Patient/mem-1'));
  const out: string[] = [];
  for (let round = 0; round < 8; round++) {
    await Promise.all(Array.from({ length: 6 }, async () => { for (let i = 0; i < 60; i++) { const r = await fetch(`${base}/fhir/QuestionnaireResponse/$triage`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body }); await r.arrayBuffer(); } }));
    out.push(`round ${round}: rss ${Math.round(child.rssMb() ?? 0)} heapUsed ${await heap()}`);
  }
  console.log(out.join('\n'));
  await child.stop();
}, 600000);
