-- gmdb: remove the logon banner (as GNUmed clients do before writing one).
DELETE FROM cfg.db_logon_banner;
