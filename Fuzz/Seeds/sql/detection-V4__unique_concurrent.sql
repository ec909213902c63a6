create unique index concurrently users_email on users (email);
