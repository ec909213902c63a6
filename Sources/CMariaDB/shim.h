#ifndef TIDEMARK_CMARIADB_SHIM_H
#define TIDEMARK_CMARIADB_SHIM_H
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

/* mysql_options takes its value as a `const void *` whose type depends on the option: an
   unsigned int, a my_bool (char) or a C string. These typed helpers keep Swift from building
   pointers to temporaries of the right C type. Each returns 0 on success. */
static inline int tidemark_mysql_set_uint(MYSQL *mysql, enum mysql_option option, unsigned int value) {
    return mysql_options(mysql, option, &value);
}
static inline int tidemark_mysql_set_bool(MYSQL *mysql, enum mysql_option option, int value) {
    my_bool flag = value ? 1 : 0;
    return mysql_options(mysql, option, &flag);
}
static inline int tidemark_mysql_set_string(MYSQL *mysql, enum mysql_option option, const char *value) {
    return mysql_options(mysql, option, value);
}

/* Client flags are macros of a type Swift imports inconsistently; fixed here as unsigned long. */
static const unsigned long TIDEMARK_CLIENT_MULTI_STATEMENTS = CLIENT_MULTI_STATEMENTS;
static const unsigned long TIDEMARK_CLIENT_MULTI_RESULTS = CLIENT_MULTI_RESULTS;

#endif
