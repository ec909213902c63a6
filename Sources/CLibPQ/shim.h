#ifndef TIDEMARK_CLIBPQ_SHIM_H
#define TIDEMARK_CLIBPQ_SHIM_H
#include <libpq-fe.h>

/* PG_DIAG_* are character-literal macros ('C', 'M', ...) that Swift cannot import. */
static const int TIDEMARK_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int TIDEMARK_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int TIDEMARK_PG_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL;
static const int TIDEMARK_PG_DIAG_MESSAGE_HINT = PG_DIAG_MESSAGE_HINT;
static const int TIDEMARK_PG_DIAG_STATEMENT_POSITION = PG_DIAG_STATEMENT_POSITION;
static const int TIDEMARK_PG_DIAG_CONTEXT = PG_DIAG_CONTEXT;
/* The severity in English whatever lc_messages says (ERROR, WARNING, NOTICE, ...). */
static const int TIDEMARK_PG_DIAG_SEVERITY_NONLOCALIZED = PG_DIAG_SEVERITY_NONLOCALIZED;

#endif
