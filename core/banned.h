#ifndef POOLSCOPE_BANNED_H
#define POOLSCOPE_BANNED_H
/*
 * Functions that are easy to misuse are made compile errors (the idea is
 * git's banned.h).  Use strbuf, snprintf, parse_i64() and logtime instead.
 * Include this last, after the system headers.
 */
#define BANNED(func) sorry_##func##_is_a_banned_function
#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)
#undef mktime
#define mktime(x) BANNED(mktime)
#endif
