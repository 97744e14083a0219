-- gmdb: write the logon banner; $1 is the text (never blank: the table checks).
INSERT INTO cfg.db_logon_banner (message) VALUES ($1);
