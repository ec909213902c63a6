-- tidemark:irreversible PostgreSQL cannot drop an enum value; restore from backup
SELECT 1;
