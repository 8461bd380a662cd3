-- Who resolved an alert by hand (NULL: the evaluator did). The evaluator leaves such an
-- episode resolved while its condition lasts; a new episode starts when it returns.
ALTER TABLE alerts ADD COLUMN resolved_by VARCHAR;
