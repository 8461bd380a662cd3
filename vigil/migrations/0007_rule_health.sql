-- Each rule's health after its latest evaluation, as Prometheus reports it: NULL error
-- means it evaluated; a failing rule keeps its alerts as they were and says why here.
ALTER TABLE rules ADD COLUMN last_eval_at TIMESTAMP;
ALTER TABLE rules ADD COLUMN last_error VARCHAR;
