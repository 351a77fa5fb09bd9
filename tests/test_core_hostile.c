/*
 * Hostile text in core: what a log line can smuggle to a terminal or into
 * JSON.  Terminals obey ESC (0x1b) sequences and also the C1 controls
 * U+0080-U+009F (xterm reads U+009B as CSI, so "\xc2\x9b" "2J" clears the
 * screen like ESC [ 2 J); invalid UTF-8 must not reach a JSON consumer.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "core/strbuf.h"
#include "core/timeline.h"

/* True if s[0..len) holds a byte a terminal would act on: C0 other than
 * nothing (no TAB/LF either: excerpts are one line), DEL, or C1 as UTF-8. */
static bool has_terminal_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] < 0xa0)
			return true;
	}
	return false;
}

static const struct {
	const char *in;
	size_t len;
} hostile[] = {
#define S(x) { x, sizeof(x) - 1 }
	S("\x1b[31mred\x1b[0m"),
	S("title \x1b]0;pwned\x07 bell"),
	S("c1 csi \xc2\x9b" "2J clears"),
	S("raw c1 \x9b" "2J in latin-1"),
	S("bad \xff\xfe \xc0\xaf \xed\xa0\x80 utf8"),
	S("nul \0 inside"),
	S("cut utf8 \xe2\x82"),
	S("del \x7f and tab \t and cr \r"),
#undef S
};

Test(hostile_core, utf8_printable_classifies)
{
	size_t skip;
	cr_assert_eq(utf8_printable("a", 1, &skip), 1);
	cr_assert_eq(utf8_printable("\x1b", 1, &skip), 0);
	cr_assert_eq(skip, 1);
	cr_assert_eq(utf8_printable("\x7f", 1, &skip), 0);
	cr_assert_eq(utf8_printable("\xc2\x9b", 2, &skip), 0);
	cr_assert_eq(skip, 2, "a C1 control is replaced whole");
	cr_assert_eq(utf8_printable("\xc2\xa0", 2, &skip), 2, "U+00A0 is printable");
	cr_assert_eq(utf8_printable("\xe2\x82\xac", 3, &skip), 3);
	cr_assert_eq(utf8_printable("\xe2\x82", 2, &skip), 0, "cut sequence");
	cr_assert_eq(skip, 1);
	cr_assert_eq(utf8_printable("\xff", 1, &skip), 0);
	cr_assert_eq(utf8_printable("\xed\xa0\x80", 3, &skip), 0, "surrogate");
}

Test(hostile_core, unparsed_excerpt_is_terminal_safe)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct source src;
		source_init(&src, "x.log");
		source_note_unparsed(&src, 1, UNPARSED_UNKNOWN_LAYOUT, hostile[i].in, hostile[i].len);
		cr_assert_eq(src.nsamples, 1);
		cr_assert_not(has_terminal_control(src.samples[0].excerpt,
						   strlen(src.samples[0].excerpt)),
			      "case %zu: excerpt '%s' holds a control", i, src.samples[0].excerpt);
		cr_assert_neq(strchr(src.samples[0].excerpt, '?'), NULL, "case %zu replaced", i);
		source_release(&src);
	}
}

Test(hostile_core, unparsed_excerpt_keeps_whole_characters)
{
	/* 126 ASCII bytes then a 3-byte character: it does not fit in the
	 * 127-byte excerpt and must not be cut in half */
	char line[200];
	struct source src;
	memset(line, 'a', 126);
	memcpy(line + 126, "\xe2\x82\xac tail", 8);
	source_init(&src, "x.log");
	source_note_unparsed(&src, 1, UNPARSED_UNKNOWN_LAYOUT, line, 134);
	cr_assert_eq(strlen(src.samples[0].excerpt), 126);
	source_release(&src);
	/* a valid multibyte text survives */
	source_init(&src, "x.log");
	source_note_unparsed(&src, 1, UNPARSED_UNKNOWN_LAYOUT, "caf\xc3\xa9 \xe2\x82\xac", 9);
	cr_assert_str_eq(src.samples[0].excerpt, "caf\xc3\xa9 \xe2\x82\xac");
	source_release(&src);
}

Test(hostile_core, json_escaping_is_valid_and_terminal_safe)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		json_error_t err;
		json_t *j;
		strbuf_addch(&sb, '"');
		strbuf_add_json_escaped(&sb, hostile[i].in, hostile[i].len);
		strbuf_addch(&sb, '"');
		cr_assert_not(has_terminal_control(sb.buf, sb.len), "case %zu: %s", i, sb.buf);
		/* strict UTF-8, as jq and Python read it; \u0000 is valid JSON */
		j = json_loadb(sb.buf, sb.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		cr_assert_not_null(j, "case %zu: %s: %s", i, sb.buf, err.text);
		json_decref(j);
		strbuf_release(&sb);
	}
	{
		/* C1 is escaped as such, not replaced: the text is kept */
		struct strbuf sb = STRBUF_INIT;
		strbuf_add_json_escaped(&sb, "\xc2\x9b" "2J \xc2\xa0", 7);
		cr_assert_str_eq(sb.buf, "\\u009b2J \xc2\xa0");
		strbuf_release(&sb);
	}
}
