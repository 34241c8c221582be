/*
 * libFuzzer target: the SNMP SET path of SIGPROXY-MIB (mib/sp_agent_set.c)
 * without a running agent, as the unit tests drive it: per-varbind checks
 * (RESERVE1), the whole-PDU candidate (RESERVE2), commit (ACTION), undo,
 * finish, on one configuration store for the whole input. Built and run by
 * scripts/fuzz (scripts/fuzz 60 snmp_set).
 *
 * fuzz-options: -max_len=1024
 *
 * The input is a series of SET PDUs: a flags byte (varbinds - 1 in bits
 * 0-2, 0x10 the switchover hook agrees, 0x20 undo after commit), then each
 * varbind built from bytes: an object of the MIB (group and column), its
 * instance (scalar .0, a row index
 * with a name from a small set or from the bytes, or raw sub-identifiers),
 * a type (usually the object's own) and a value.
 *
 * Besides memory errors it checks, after every PDU: the running
 * configuration validates; an undone SET leaves it as it was; a GETNEXT walk
 * of the MIB ends, in increasing order, every step readable by GET; and the
 * running configuration is one `write memory` can save and read back (its
 * text loads to an equal configuration).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "sp_agent_objects.h"
#include "sp_cli.h"
#include "sp_log.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t u32(struct in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | byte(in);
	return v;
}

static int switchover_ok;

static int switchover(void *arg, struct sp_error *e)
{
	(void)arg;
	return switchover_ok ? 0 : sp_error_set(e, "refused by the fuzzer");
}

/* A row name: a few recurring ones, or bytes. */
static size_t row_name(struct in *in, oid *o, bool ifname)
{
	static const char *const names[] = { "a", "voip", "eth1", "lo" };
	uint8_t sel = byte(in);
	size_t len;

	if (sel < 0xc0) {
		const char *s = names[sel % 4];

		len = strlen(s);
		o[0] = len;
		for (size_t i = 0; i < len; i++)
			o[1 + i] = (unsigned char)s[i];
	} else {
		len = sel % (ifname ? 18 : 36);
		o[0] = len;
		for (size_t i = 0; i < len; i++)
			o[1 + i] = byte(in);
	}
	return 1 + len;
}

/*
 * The object of group g (bit 7: a table's column) and last sub-identifier c,
 * so that seeds keep naming the same objects when the MIB grows; any other
 * pair still names some object.
 */
static const struct sp_mib_obj *object(uint8_t g, uint8_t c)
{
	for (size_t i = 0; i < sp_mib_n_objs; i++) {
		const struct sp_mib_obj *o = &sp_mib_objs[i];

		if (o->sub[0] == (g & 0x7f) && o->sub[o->sub_len - 1] == c &&
		    (o->table != SP_TBL_NONE) == !!(g & 0x80))
			return o;
	}
	return &sp_mib_objs[(g * 256u + c) % sp_mib_n_objs];
}

static netsnmp_variable_list *varbind(struct in *in, netsnmp_variable_list **list)
{
	static const oid base[] = { SP_MIB_BASE, 1 };
	static const u_char types[] = { ASN_INTEGER, ASN_UNSIGNED, ASN_OCTET_STR, ASN_GAUGE,
					ASN_COUNTER, ASN_TIMETICKS, ASN_IPADDRESS, ASN_OBJECT_ID,
					ASN_NULL, ASN_COUNTER64 };
	oid name[SP_MIB_OID_MAX + 8];
	size_t len = OID_LENGTH(base);
	const struct sp_mib_obj *o = object(byte(in), byte(in));
	uint8_t how = byte(in), t = byte(in);
	u_char type = t < 0xe0 ? o->type : types[t % sizeof(types)];
	u_char str[64];
	long v;

	memcpy(name, base, sizeof(base));
	for (size_t i = 0; i < o->sub_len; i++)
		name[len++] = o->sub[i];
	switch (how % 4) {
	case 0:		/* raw sub-identifiers */
		for (unsigned k = how / 4 % 8; k; k--)
			name[len++] = u32(in);
		break;
	default:	/* the instance the object wants */
		if (o->table == SP_TBL_NONE) {
			name[len++] = 0;
		} else if (o->table == SP_TBL_LISTEN_PORT) {
			name[len++] = how / 4 % 3 ? 5060 + how % 3 : (u32(in) & 0x1ffff);
		} else {
			len += row_name(in, name + len, o->table == SP_TBL_INTERFACE);
			if (o->table != SP_TBL_INTERFACE)
				name[len++] = how / 4 % 2 ? 10 * (how % 3 + 1) : u32(in);
		}
	}
	if (type == ASN_OCTET_STR || type == ASN_IPADDRESS || type == ASN_OBJECT_ID) {
		size_t n = byte(in) % sizeof(str);

		for (size_t i = 0; i < n; i++)
			str[i] = byte(in);
		if (type == ASN_OBJECT_ID)
			n -= n % sizeof(oid);
		return snmp_varlist_add_variable(list, name, len, type, str, n);
	}
	if (type == ASN_NULL)
		return snmp_varlist_add_variable(list, name, len, type, NULL, 0);
	if (type == ASN_COUNTER64) {
		struct counter64 c = { u32(in), u32(in) };

		return snmp_varlist_add_variable(list, name, len, type, &c, sizeof(c));
	}
	/* small values most of the time: enumerations, RowStatus, lengths */
	v = byte(in);
	if (v >= 0xf0)
		v = (long)(int32_t)u32(in);
	else if (v >= 0xe0)
		v = -(v - 0xe0);
	else
		v %= 8;
	return snmp_varlist_add_variable(list, name, len, type, &v, sizeof(v));
}

static void check_walk(struct sp_agent_mib *m)
{
	static const oid start[] = { SP_MIB_BASE, 1 };
	oid name[SP_MIB_OID_MAX], next[SP_MIB_OID_MAX];
	size_t len = OID_LENGTH(start), next_len;
	struct sp_agent_value v, g;
	unsigned steps = 0;

	memcpy(name, start, sizeof(start));
	while (sp_agent_mib_next(m, name, len, next, &next_len, &v)) {
		if (next_len > SP_MIB_OID_MAX || snmp_oid_compare(name, len, next, next_len) >= 0)
			abort();
		if (sp_agent_mib_get(m, next, next_len, &g) != SNMP_ERR_NOERROR || g.type != v.type)
			abort();
		memcpy(name, next, next_len * sizeof(oid));
		len = next_len;
		if (++steps > 100000)
			abort();
	}
}

static void check_saveable(const struct sp_config *c)
{
	struct sp_config *back = sp_config_new();
	struct sp_error e = { { 0 } };
	char *text = sp_config_to_text(c, NULL), *again;

	if (!text || !back)
		abort();
	if (sp_cli_load_text("running", text, back, &e) < 0)
		abort();	/* write memory would save a file that does not load */
	again = sp_config_to_text(back, NULL);
	if (!again || strcmp(text, again) != 0 || !sp_config_equal(c, back))
		abort();
	free(text);
	free(again);
	sp_config_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_config_store *store = sp_config_store_new();
	struct sp_agent_mib m;
	struct in in = { data, size };
	static int quiet;

	if (!quiet) {
		sp_log_set_level(LOG_CRIT);
		quiet = 1;
	}
	if (!store)
		abort();
	sp_agent_mib_init(&m, store);
	m.hooks.switchover = switchover;
	for (unsigned pdus = 0; in.n && pdus < 16; pdus++) {
		netsnmp_variable_list *list = NULL, *vbs[8];
		uint8_t flags = byte(&in);
		size_t n = 1 + flags % 8, bad = 0;
		struct sp_error e = { { 0 } };
		struct sp_config *before = sp_config_dup(sp_config_store_current(store));
		int rc = SNMP_ERR_NOERROR;

		if (!before)
			abort();
		for (size_t i = 0; i < n; i++)
			if (!(vbs[i] = varbind(&in, &list)))
				abort();
		switchover_ok = flags & 0x10;
		for (size_t i = 0; i < n && rc == SNMP_ERR_NOERROR; i++)
			rc = sp_agent_mib_set_check(&m, vbs[i]);
		if (rc == SNMP_ERR_NOERROR)
			rc = sp_agent_mib_set_prepare(&m, vbs, n, &bad, &e);
		if (rc == SNMP_ERR_NOERROR)
			rc = sp_agent_mib_set_commit(&m, vbs, n, &e);
		/* a later sub-agent's varbind failed: the master asks to undo */
		if (rc == SNMP_ERR_NOERROR && (flags & 0x20)) {
			if (sp_agent_mib_set_undo(&m, &e) != SNMP_ERR_NOERROR ||
			    !sp_config_equal(before, sp_config_store_current(store)))
				abort();
		}
		sp_agent_mib_set_finish(&m);
		if (sp_config_validate(sp_config_store_current(store), &e) < 0)
			abort();
		check_walk(&m);
		check_saveable(sp_config_store_current(store));
		sp_config_free(before);
		snmp_free_varbind(list);
	}
	sp_agent_mib_cleanup(&m);
	sp_config_store_free(store);
	return 0;
}
