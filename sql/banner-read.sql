-- gmdb: the logon banner (at most one row: singularizer is unique and true).
SELECT message FROM cfg.db_logon_banner;
