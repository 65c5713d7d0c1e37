/* common/esc.c: what reaches a terminal or a JSON reader from strings a
 * container chose. Every mode, every class of character, and the cuts of
 * a buffer that is too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/esc.h"

static void check(const char *in, enum hk_esc_mode mode, const char *want)
{
	char *got = hk_esc_mode(in, mode);
	assert_string_equal(got, want);
	assert_int_equal(hk_esc_into(in, mode, NULL, 0), strlen(want));
	free(got);
}

static void test_text(void **state)
{
	(void)state;
	check("/srv/web", HK_ESC_TEXT, "/srv/web");
	check("", HK_ESC_TEXT, "");
	/* OSC title, BEL, CSI clear, newline, CR, DEL */
	check("\x1b]0;x\x07\x1b[2J\n\r\x7f", HK_ESC_TEXT, "\\x1b]0;x\\x07\\x1b[2J\\x0a\\x0d\\x7f");
	/* C1 CSI as UTF-8, RLO, LS, LRI, ALM: characters */
	check("a\xc2\x9b"
	      "b\xe2\x80\xae"
	      "c\xe2\x80\xa8"
	      "d\xe2\x81\xa6"
	      "e\xd8\x9c",
	      HK_ESC_TEXT, "a\\u009bb\\u202ec\\u2028d\\u2066e\\u061c");
	/* not UTF-8: a lone byte, a stray continuation, an overlong '/', a
	 * surrogate, past U+10FFFF, a cut sequence at the end */
	check("\xff\x80\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x80", HK_ESC_TEXT,
	      "\\xff\\x80\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xe2\\x80");
	/* what passes: UTF-8 letters, NBSP, emoji, backslashes as they are */
	check("caf\xc3\xa9 \xc2\xa0\xf0\x9f\x90\xb3 a\\x1b", HK_ESC_TEXT,
	      "caf\xc3\xa9 \xc2\xa0\xf0\x9f\x90\xb3 a\\x1b");
}

static void test_json(void **state)
{
	(void)state;
	check("a\"b\\c/", HK_ESC_JSON, "a\\\"b\\\\c/");
	check("\b\f\n\r\t\x01\x1b\x7f", HK_ESC_JSON, "\\b\\f\\n\\r\\t\\u0001\\u001b\\u007f");
	check("\xc2\x9b\xe2\x80\xae", HK_ESC_JSON, "\\u009b\\u202e");
	check("x\xffy\xc0\xaf", HK_ESC_JSON, "x\\ufffdy\\ufffd\\ufffd");
	check("caf\xc3\xa9", HK_ESC_JSON, "caf\xc3\xa9");
}

static void test_json_text(void **state)
{
	(void)state;
	/* json-c's layout and escapes stay; what it leaves raw does not */
	check("{\n\t\"a\": \"\\u001b\\\"\x7f\xc2\x9b\xff\xc3\xa9\"\n}", HK_ESC_JSON_TEXT,
	      "{\n\t\"a\": \"\\u001b\\\"\\u007f\\u009b\\ufffd\xc3\xa9\"\n}");
}

static void test_cut(void **state)
{
	char buf[8];

	(void)state;
	/* whole escapes only, always terminated */
	assert_int_equal(hk_esc_into("ab\x1b"
				     "cd",
				     HK_ESC_TEXT, buf, sizeof(buf)),
			 8);
	assert_string_equal(buf, "ab\\x1bc");
	assert_int_equal(hk_esc_into("abcde\x1b", HK_ESC_TEXT, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "abcde");
	/* and whole characters */
	assert_int_equal(hk_esc_into("abcdef\xc3\xa9", HK_ESC_TEXT, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(hk_esc_into("abc", HK_ESC_TEXT, buf, 1), 3);
	assert_string_equal(buf, "");
}

static void test_clean(void **state)
{
	(void)state;
	assert_true(hk_esc_clean("/srv/caf\xc3\xa9 web\\"));
	assert_false(hk_esc_clean("a\nb"));
	assert_false(hk_esc_clean("a\xc2\x85"));
	assert_false(hk_esc_clean("a\xff"));
	assert_false(hk_esc_clean("\xe2\x80\x8f"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),      cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_text), cmocka_unit_test(test_cut),
		cmocka_unit_test(test_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
