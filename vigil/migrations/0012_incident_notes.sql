-- Incidents people record when they resolve an alert: which alert, who, and when.
ALTER TABLE incidents ADD COLUMN alert_id VARCHAR;
ALTER TABLE incidents ADD COLUMN recorded_by VARCHAR;
