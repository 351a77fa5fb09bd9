/* The parser families scripts/fuzz.sh builds a fuzz_parse_<name> target for
 * ("auto" = format detection, line wrappers and the mixed-stream fallbacks),
 * separated by blanks.  Every format in parsers/registry.c must be here:
 * scripts/fuzz.sh compares this list with `poolscope help formats` and fails
 * when one is missing. */
#define POOLSCOPE_FUZZ_FORMAT_LIST "auto pg-csv pg-json pg-stderr uvicorn-access gunicorn-access nginx-access pylog pgbouncer hikaricp poolscope-events"
