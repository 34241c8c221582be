#include "config.h"
#include "sp_bpf.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "bpf/sp_tag.h"
#include "sp_log.h"

/* The object file, built by clang -target bpf and embedded at build time
 * (policy-routing/bpf/sp_tag_obj.c): no path to find at run time. */
extern const unsigned char sp_tag_obj[];
extern const size_t sp_tag_obj_len;

/* Our filters on a clsact hook: a fixed handle and priority, so a detach
 * removes exactly them. */
#define SP_BPF_HANDLE 0x5350
#define SP_BPF_PRIO 0x5350

struct sp_bpf_if {
	char ifname[IFNAMSIZ];
	int ifindex;
	bool made_qdisc;
	bool xdp;
};

struct sp_bpf {
	struct bpf_object *obj;
	int ingress_fd, egress_fd, xdp_fd;
	int ifs_fd, vid_slot_fd, label_slot_fd, slots_fd;
	struct sp_bpf_if ifs[SP_TAG_MAX_IFS];
	size_t n_ifs;
	struct sp_bpf_tag tags[SP_TAG_SLOTS];
	size_t n_tags;
};

static int sp_bpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings go to our debug log, not stderr */
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	sp_debug("libbpf: %s", line);
	return 0;
}

int sp_bpf_open(struct sp_bpf **out, struct sp_error *err)
{
	struct sp_bpf *b = calloc(1, sizeof(*b));
	struct bpf_program *in, *eg, *xdp;
	int rc;

	*out = NULL;
	if (!b) {
		sp_error_set(err, "out of memory");
		return -1;
	}
	libbpf_set_print(sp_bpf_quiet);
	b->obj = bpf_object__open_mem(sp_tag_obj, sp_tag_obj_len, NULL);
	if (!b->obj) {
		sp_error_set(err, "cannot open the BPF object: %s", strerror(errno));
		free(b);
		return -1;
	}
	rc = bpf_object__load(b->obj);
	if (rc) {
		sp_error_set(err, "cannot load the tc-BPF tagger: %s", strerror(-rc));
		sp_bpf_close(b, false);
		return -1;
	}
	in = bpf_object__find_program_by_name(b->obj, "sp_tag_ingress");
	eg = bpf_object__find_program_by_name(b->obj, "sp_tag_egress");
	b->ingress_fd = in ? bpf_program__fd(in) : -1;
	b->egress_fd = eg ? bpf_program__fd(eg) : -1;
	xdp = bpf_object__find_program_by_name(b->obj, "sp_tag_xdp");
	b->xdp_fd = xdp ? bpf_program__fd(xdp) : -1;
	b->ifs_fd = bpf_object__find_map_fd_by_name(b->obj, "sp_tag_ifs");
	b->vid_slot_fd = bpf_object__find_map_fd_by_name(b->obj, "sp_tag_vid_slot");
	b->label_slot_fd = bpf_object__find_map_fd_by_name(b->obj, "sp_tag_label_slot");
	b->slots_fd = bpf_object__find_map_fd_by_name(b->obj, "sp_tag_slots");
	if (b->ingress_fd < 0 || b->egress_fd < 0 || b->xdp_fd < 0 || b->ifs_fd < 0 ||
	    b->vid_slot_fd < 0 || b->label_slot_fd < 0 || b->slots_fd < 0) {
		sp_error_set(err, "the BPF object lacks a program or map");
		sp_bpf_close(b, false);
		return -1;
	}
	*out = b;
	return 0;
}

static void sp_bpf_hook(struct bpf_tc_hook *h, int ifindex, enum bpf_tc_attach_point p)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = p;
}

static void sp_bpf_off(struct sp_bpf *b, struct sp_bpf_if *i)
{
	static const enum bpf_tc_attach_point points[] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	__u32 key = (__u32)i->ifindex;

	for (size_t k = 0; k < 2; k++) {
		struct bpf_tc_hook h;
		struct bpf_tc_opts o = { .sz = sizeof(o), .handle = SP_BPF_HANDLE, .priority = SP_BPF_PRIO };

		sp_bpf_hook(&h, i->ifindex, points[k]);
		bpf_tc_detach(&h, &o); /* gone with its interface: nothing to do */
	}
	if (i->xdp)
		bpf_xdp_detach(i->ifindex, 0, NULL);
	if (i->made_qdisc) {
		struct bpf_tc_hook h;

		sp_bpf_hook(&h, i->ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&h);
	}
	bpf_map_delete_elem(b->ifs_fd, &key);
}

void sp_bpf_close(struct sp_bpf *b, bool detach)
{
	if (!b)
		return;
	for (size_t i = 0; detach && i < b->n_ifs; i++)
		sp_bpf_off(b, &b->ifs[i]);
	bpf_object__close(b->obj);
	free(b);
}

static struct sp_bpf_if *sp_bpf_find(struct sp_bpf *b, const char *ifname)
{
	for (size_t i = 0; i < b->n_ifs; i++)
		if (strcmp(b->ifs[i].ifname, ifname) == 0)
			return &b->ifs[i];
	return NULL;
}

bool sp_bpf_attached(const struct sp_bpf *b, const char *ifname)
{
	return b && sp_bpf_find((struct sp_bpf *)b, ifname) != NULL;
}

int sp_bpf_attach(struct sp_bpf *b, const char *ifname, uint32_t mode, const struct sp_bpf_tag *peer,
		  struct sp_error *err)
{
	struct sp_tag_if cfg = { .mode = mode, .kind = peer ? peer->kind : 0, .value = peer ? peer->value : 0 };
	struct sp_bpf_if *i = sp_bpf_find(b, ifname), fresh = { 0 };
	struct bpf_tc_hook h;
	__u32 key;
	int rc;

	if (i) {
		key = (__u32)i->ifindex;
		return bpf_map_update_elem(b->ifs_fd, &key, &cfg, BPF_ANY) ? -1 : 0;
	}
	if (b->n_ifs == SP_TAG_MAX_IFS) {
		sp_error_set(err, "more than %d interfaces", SP_TAG_MAX_IFS);
		return -1;
	}
	snprintf(fresh.ifname, sizeof(fresh.ifname), "%s", ifname);
	fresh.ifindex = (int)if_nametoindex(ifname);
	if (!fresh.ifindex) {
		sp_error_set(err, "%s: no such interface", ifname);
		return -1;
	}
	key = (__u32)fresh.ifindex;
	if (bpf_map_update_elem(b->ifs_fd, &key, &cfg, BPF_ANY)) {
		sp_error_set(err, "%s: BPF map update: %s", ifname, strerror(errno));
		return -1;
	}
	sp_bpf_hook(&h, fresh.ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
	rc = bpf_tc_hook_create(&h);
	if (rc && rc != -EEXIST) {
		sp_error_set(err, "%s: cannot add a clsact qdisc: %s", ifname, strerror(-rc));
		bpf_map_delete_elem(b->ifs_fd, &key);
		return -1;
	}
	fresh.made_qdisc = rc == 0;
	for (int k = 0; k < 2; k++) {
		struct bpf_tc_opts o = { .sz = sizeof(o), .handle = SP_BPF_HANDLE, .priority = SP_BPF_PRIO,
					 .flags = BPF_TC_F_REPLACE,
					 .prog_fd = k ? b->egress_fd : b->ingress_fd };

		sp_bpf_hook(&h, fresh.ifindex, k ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		rc = bpf_tc_attach(&h, &o);
		if (rc) {
			sp_error_set(err, "%s: cannot attach the tc-BPF tagger (%s): %s", ifname,
				 k ? "egress" : "ingress", strerror(-rc));
			sp_bpf_off(b, &fresh);
			return -1;
		}
	}
	/* MPLS labels are popped in XDP, where the MAC header can still move */
	rc = bpf_xdp_attach(fresh.ifindex, b->xdp_fd, 0, NULL);
	if (rc) {
		sp_error_set(err, "%s: cannot attach the XDP label popper: %s", ifname, strerror(-rc));
		sp_bpf_off(b, &fresh);
		return -1;
	}
	fresh.xdp = true;
	b->ifs[b->n_ifs++] = fresh;
	return 0;
}

void sp_bpf_detach_others(struct sp_bpf *b, const char *const *keep, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < b->n_ifs; i++) {
		bool kept = false;

		for (size_t k = 0; k < n && !kept; k++)
			kept = strcmp(keep[k], b->ifs[i].ifname) == 0;
		if (kept)
			b->ifs[w++] = b->ifs[i];
		else
			sp_bpf_off(b, &b->ifs[i]);
	}
	b->n_ifs = w;
}

int sp_bpf_set_tags(struct sp_bpf *b, const struct sp_bpf_tag *tags, size_t n, struct sp_error *err)
{
	struct sp_tag_slot none = { 0 };
	__u32 zero = 0;

	if (n >= SP_TAG_SLOTS) {
		sp_error_set(err, "more than %d VLANs and MPLS labels", SP_TAG_SLOTS - 1);
		return -1;
	}
	/* the old tags out first, then the new in: a tag never names a stale slot */
	for (size_t i = 0; i < b->n_tags; i++) {
		__u32 v = b->tags[i].value, slot = (__u32)i + 1;

		if (b->tags[i].kind == SP_BPF_TAG_VLAN)
			bpf_map_update_elem(b->vid_slot_fd, &v, &zero, BPF_ANY);
		else
			bpf_map_delete_elem(b->label_slot_fd, &v);
		bpf_map_update_elem(b->slots_fd, &slot, &none, BPF_ANY);
	}
	b->n_tags = 0;
	for (size_t i = 0; i < n; i++) {
		struct sp_tag_slot t = { .kind = tags[i].kind, .value = tags[i].value };
		__u32 slot = (__u32)i + 1, v = tags[i].value;
		int fd = t.kind == SP_BPF_TAG_VLAN ? b->vid_slot_fd : b->label_slot_fd;

		if ((t.kind == SP_BPF_TAG_VLAN && v > 4095) || (t.kind == SP_BPF_TAG_MPLS && v > 0xfffff) ||
		    (t.kind != SP_BPF_TAG_VLAN && t.kind != SP_BPF_TAG_MPLS)) {
			sp_error_set(err, "tag %u of kind %u out of range", v, t.kind);
			return -1;
		}
		if (bpf_map_update_elem(b->slots_fd, &slot, &t, BPF_ANY) ||
		    bpf_map_update_elem(fd, &v, &slot, BPF_ANY)) {
			sp_error_set(err, "BPF map update: %s", strerror(errno));
			return -1;
		}
		b->tags[b->n_tags++] = tags[i];
	}
	return 0;
}
