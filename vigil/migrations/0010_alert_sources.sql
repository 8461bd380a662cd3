-- Where an alert comes from: 'vigil' (Vigil's own rules; existing rows and the evaluator's
-- inserts get it by default, and readers treat NULL the same) or 'alertmanager' (received
-- on the webhook intake), and the link its sender gave (Alertmanager's generatorURL), so
-- a received alert points back to the Prometheus that raised it.
ALTER TABLE alerts ADD COLUMN source VARCHAR DEFAULT 'vigil';
ALTER TABLE alerts ADD COLUMN generator_url VARCHAR;
