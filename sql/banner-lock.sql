-- gmdb: keep other writers of the banner out until commit (readers go on).
LOCK TABLE cfg.db_logon_banner IN SHARE ROW EXCLUSIVE MODE;
