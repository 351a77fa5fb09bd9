/* The parser families scripts/fuzz.sh builds a fuzz_parse_<name> target for
 * ("auto" = format detection).  Keep in step with parsers/registry.c. */
#define POOLSCOPE_FUZZ_FORMAT_LIST "auto"
