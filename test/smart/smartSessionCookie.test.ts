import { SmartSessions } from '../../src/smart/smartSessions';

/**
 * Issue 16: the session cookie is encrypted and authenticated (AES-256-GCM under a key from
 * SESSION_SECRET): it holds only a session reference, readable by nobody else, and any change
 * to it, or one sealed under another secret, names no session.
 */
describe('the SMART session cookie', () => {
  const secret = 's'.repeat(32);

  it('names its session, without the session id in clear, and differs each time it is sealed', async () => {
    const sessions = new SmartSessions(secret);
    const session = await sessions.create('ip:1');
    const first = sessions.cookieValue(session);
    const second = sessions.cookieValue(session);
    expect(first).not.toBe(second);
    expect(first).not.toContain(session.id);
    expect(Buffer.from(first, 'base64url').toString('latin1')).not.toContain(session.id);
    expect((await sessions.find(first))?.id).toBe(session.id);
    expect((await sessions.find(second))?.id).toBe(session.id);
  });

  it('refuses a cookie changed by one bit, cut short, or sealed under another SESSION_SECRET', async () => {
    const sessions = new SmartSessions(secret);
    const session = await sessions.create('ip:1');
    const cookie = sessions.cookieValue(session);
    const bytes = Buffer.from(cookie, 'base64url');
    for (const position of [0, 12, 20, bytes.length - 1]) {
      const changed = Buffer.from(bytes);
      changed[position] = (changed[position] ?? 0) ^ 1;
      expect(await sessions.find(changed.toString('base64url'))).toBeUndefined();
    }
    expect(await sessions.find(cookie.slice(0, -4))).toBeUndefined();
    expect(await sessions.find(`${session.id}.x`)).toBeUndefined();
    // Even with the same store, another SESSION_SECRET opens nothing.
    const elsewhere = new SmartSessions('t'.repeat(32), { store: sessions.store });
    expect(await elsewhere.find(cookie)).toBeUndefined();
    expect((await sessions.find(cookie))?.id).toBe(session.id);
  });
});
