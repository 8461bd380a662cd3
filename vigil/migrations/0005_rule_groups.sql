-- Rules keep the group they were written in, so exported rule files keep their groups.
ALTER TABLE rules ADD COLUMN rule_group VARCHAR DEFAULT 'vigil';
UPDATE rules SET rule_group = 'vigil-default' WHERE updated_by = 'system';
ALTER TABLE rules ADD COLUMN position INTEGER DEFAULT 0;
