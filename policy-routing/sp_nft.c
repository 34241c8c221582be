#include "config.h"
#include "sp_nft.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <time.h>

#define SP_NFT_TABLE_REF SP_NFT_FAMILY " " SP_NFT_TABLE

struct sp_nft {
	struct nft_ctx *ctx;
	/* reading one counter object: straight nfnetlink, since libnftables
	 * fetches every set of the table for any listing (10 000 strategies:
	 * ~30 ms a read, against ~0.1 ms) */
	struct mnl_socket *nl;
	uint32_t seq;
};

int sp_nft_open(struct sp_nft **out, struct sp_error *err)
{
	struct sp_nft *nft = calloc(1, sizeof(*nft));

	*out = NULL;
	if (!nft)
		goto fail;
	nft->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft->ctx)
		goto fail;
	/* Buffered, so errors reach the caller's message instead of stderr. */
	if (nft_ctx_buffer_output(nft->ctx) || nft_ctx_buffer_error(nft->ctx))
		goto fail;
	*out = nft;
	return 0;
fail:
	sp_error_set(err, "cannot set up libnftables: %s", strerror(errno ? errno : ENOMEM));
	sp_nft_close(nft);
	errno = ENOMEM;
	return -1;
}

void sp_nft_close(struct sp_nft *nft)
{
	if (!nft)
		return;
	if (nft->ctx)
		nft_ctx_free(nft->ctx);
	if (nft->nl)
		mnl_socket_close(nft->nl);
	free(nft);
}

/* End of the line at s (its '\n' or the final '\0'). */
static const char *sp_nft_eol(const char *s)
{
	return s + strcspn(s, "\n");
}

/* nft reports "[<where>: ]Error: WHAT" followed by the offending line and a
 * caret line; keep WHAT and, when nft gave a location, the offending line. (For
 * errors the kernel raises nft gives no location and its line is a guess.) */
static void sp_nft_error_summary(const char *text, struct sp_error *err, const char *what)
{
	const char *msg = strstr(text, "Error: ");
	const char *eol, *src, *src_eol;
	bool located;
	int msg_len, src_len;

	if (!msg) {
		sp_error_set(err, "%s: nft failed without a message", what);
		return;
	}
	located = msg > text && msg[-1] == ' ';
	msg += strlen("Error: ");
	eol = sp_nft_eol(msg);
	msg_len = (int)(eol - msg);
	src = *eol ? eol + 1 : eol;
	while (*src == ' ' || *src == '\t')
		src++;
	src_eol = sp_nft_eol(src);
	src_len = (int)(src_eol - src);
	if (located && src_len > 0 && *src_eol)
		sp_error_set(err, "%s: %.*s (at \"%.*s\")", what, msg_len, msg,
			      src_len, src);
	else
		sp_error_set(err, "%s: %.*s", what, msg_len, msg);
}

static int sp_nft_run(struct sp_nft *nft, const char *cmd, const char *what, struct sp_error *err)
{
	const char *errtext;

	/* Reading a buffer also empties it for the next command. */
	nft_ctx_get_error_buffer(nft->ctx);
	nft_ctx_get_output_buffer(nft->ctx);
	if (nft_run_cmd_from_buffer(nft->ctx, cmd) == 0)
		return 0;
	errtext = nft_ctx_get_error_buffer(nft->ctx);
	sp_nft_error_summary(errtext ? errtext : "", err, what);
	/* libnftables gives text, not an errno; these are the ones callers act on. */
	if (errtext && strstr(errtext, "Operation not permitted"))
		errno = EPERM;
	else if (errtext && strstr(errtext, "No such file or directory"))
		errno = ENOENT;
	else
		errno = EINVAL;
	return -1;
}

int sp_nft_apply(struct sp_nft *nft, const char *body, struct sp_error *err)
{
	static const char head[] = "table " SP_NFT_TABLE_REF "\n"
				   "delete table " SP_NFT_TABLE_REF "\n"
				   "table " SP_NFT_TABLE_REF " {\n";
	size_t len = strlen(body);
	char *cmd;
	int ret;

	/* One buffer is one transaction: create-if-missing, delete, recreate.
	 * If anything in it fails, the kernel keeps the old table. */
	cmd = malloc(sizeof(head) + len + sizeof("\n}\n"));
	if (!cmd) {
		sp_error_set(err, "cannot apply nftables table: out of memory");
		errno = ENOMEM;
		return -1;
	}
	memcpy(cmd, head, sizeof(head) - 1);
	memcpy(cmd + sizeof(head) - 1, body, len);
	strcpy(cmd + sizeof(head) - 1 + len, "\n}\n");
	ret = sp_nft_run(nft, cmd, "nftables refused table " SP_NFT_TABLE_REF, err);
	free(cmd);
	return ret;
}

int sp_nft_remove(struct sp_nft *nft, struct sp_error *err)
{
	return sp_nft_run(nft, "table " SP_NFT_TABLE_REF "\ndelete table " SP_NFT_TABLE_REF "\n",
			  "cannot remove table " SP_NFT_TABLE_REF, err);
}

int sp_nft_list(struct sp_nft *nft, char **text, struct sp_error *err)
{
	const char *out;

	*text = NULL;
	if (sp_nft_run(nft, "list table " SP_NFT_TABLE_REF, "cannot list table " SP_NFT_TABLE_REF,
		       err) < 0)
		return -1;
	out = nft_ctx_get_output_buffer(nft->ctx);
	*text = strdup(out ? out : "");
	if (!*text) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int sp_nft_parse_elements(const char *listing, char **out)
{
	const char *p = strstr(listing, "elements = {");
	size_t len = 0;
	FILE *w;

	*out = NULL;
	w = open_memstream(out, &len);
	if (!w)
		return -1;
	if (p) {
		p += strlen("elements = {");
		while (*p && *p != '}') {
			size_t n = strcspn(p, ",}");
			const char *e = p, *end = p + n, *x;

			/* one element: "KEY [expires T]", whitespace and newlines around */
			while (e < end && (*e == ' ' || *e == '\t' || *e == '\n'))
				e++;
			x = e;
			while (x < end && strncmp(x, " expires ", 9) != 0 && strncmp(x, " timeout ", 9) != 0)
				x++;
			while (x > e && (x[-1] == ' ' || x[-1] == '\t' || x[-1] == '\n'))
				x--;
			if (x > e)
				fprintf(w, "%.*s\n", (int)(x - e), e);
			p = end;
			if (*p == ',')
				p++;
		}
	}
	return fclose(w) == 0 ? 0 : -1;
}

struct sp_nft_counter_read {
	uint64_t packets;
	bool found;
};

static int sp_nft_counter_data_cb(const struct nlattr *attr, void *arg)
{
	struct sp_nft_counter_read *r = arg;

	if (mnl_attr_get_type(attr) == NFTA_COUNTER_PACKETS &&
	    mnl_attr_validate(attr, MNL_TYPE_U64) == 0) {
		r->packets = be64toh(mnl_attr_get_u64(attr));
		r->found = true;
	}
	return MNL_CB_OK;
}

static int sp_nft_obj_attr_cb(const struct nlattr *attr, void *arg)
{
	if (mnl_attr_get_type(attr) == NFTA_OBJ_DATA && mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(attr, sp_nft_counter_data_cb, arg);
	return MNL_CB_OK;
}

static int sp_nft_obj_msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), sp_nft_obj_attr_cb, arg);
	return MNL_CB_OK;
}

int sp_nft_counter_packets(struct sp_nft *nft, const char *name, uint64_t *packets,
			   struct sp_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct sp_nft_counter_read r = { 0 };
	uint32_t seq;
	ssize_t n;
	int ret;

	if (!nft->nl) {
		nft->nl = mnl_socket_open(NETLINK_NETFILTER);
		if (!nft->nl || mnl_socket_bind(nft->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			sp_error_set(err, "nfnetlink socket: %s", strerror(errno));
			if (nft->nl)
				mnl_socket_close(nft->nl);
			nft->nl = NULL;
			return -1;
		}
		nft->seq = (uint32_t)time(NULL);
	}
	seq = ++nft->seq;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, SP_NFT_TABLE);
	mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	if (mnl_socket_sendto(nft->nl, nlh, nlh->nlmsg_len) < 0) {
		sp_error_set(err, "counter %s: %s", name, strerror(errno));
		return -1;
	}
	do {
		n = mnl_socket_recvfrom(nft->nl, buf, sizeof(buf));
		if (n < 0)
			break;
		ret = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nft->nl), sp_nft_obj_msg_cb, &r);
	} while (ret > 0);
	if (n < 0 || ret < 0) {
		sp_error_set(err, "counter %s: %s", name, strerror(errno));
		return -1;
	}
	if (!r.found) {
		errno = ENOENT;
		return -1;
	}
	*packets = r.packets;
	return 0;
}

int sp_nft_set_elements(struct sp_nft *nft, const char *set, char **text, struct sp_error *err)
{
	char cmd[160];
	const char *out;

	*text = NULL;
	snprintf(cmd, sizeof(cmd), "list set " SP_NFT_TABLE_REF " %s", set);
	if (sp_nft_run(nft, cmd, "cannot list a set of " SP_NFT_TABLE_REF, err) < 0)
		return -1;
	out = nft_ctx_get_output_buffer(nft->ctx);
	if (sp_nft_parse_elements(out ? out : "", text) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int sp_nft_flush_set(struct sp_nft *nft, const char *set, struct sp_error *err)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "flush set " SP_NFT_TABLE_REF " %s", set);
	return sp_nft_run(nft, cmd, "cannot flush a set of " SP_NFT_TABLE_REF, err);
}
