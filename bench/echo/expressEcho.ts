import express from 'express';

/**
 * The framework ceiling: express 5 with the same JSON body parser settings as the service
 * (`express.json`, FHIR media types, 1 MB), answering the parsed body. The service's
 * `$triage` rate divided by this one is the cost of triage itself, framework excluded.
 */
const app = express();
app.disable('x-powered-by');
app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '1mb', strict: false }));
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});
app.post('/', (req, res) => {
  res.type('application/fhir+json').send(JSON.stringify(req.body));
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
