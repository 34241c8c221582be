/* SIGPROXY-MIB writes, RESERVE2's building blocks (sp_agent_build.c),
 * shared with the rows and the transaction (sp_agent_set.c). Internal to
 * mib/. */
#ifndef SP_AGENT_BUILD_H
#define SP_AGENT_BUILD_H

#include "sp_agent_objects.h"

/* No varbind to blame (an error of the whole PDU). */
#define SP_NO_VB ((size_t)-1)

/* The candidate configuration being built for one SET PDU. */
struct sp_mib_build {
	struct sp_agent_mib *m;
	struct sp_config *cand;
	struct sp_mib_pending *pending;
	netsnmp_variable_list *const *vbs;
	size_t n;
	size_t bad;
	bool switchover;
	struct sp_error *e;
};

/* An InetAddressType/InetAddress pair as the PDU leaves it. */
struct sp_mib_inet {
	long type;
	u_char addr[16];
	size_t len;
};

/* Records the varbind to blame and the message: returns `status`. */
int sp_fail(struct sp_mib_build *b, size_t vb, int status, const char *fmt, const char *arg);
void sp_inet_from_addr(const struct sp_addr *a, struct sp_mib_inet *r);
void sp_inet_set_type(struct sp_mib_inet *r, const netsnmp_variable_list *vb);
void sp_inet_set_addr(struct sp_mib_inet *r, const netsnmp_variable_list *vb);
bool sp_inet_text(const struct sp_mib_inet *r, char *buf, size_t len);
bool sp_inet_to_addr(const struct sp_mib_inet *r, struct sp_addr *out);
bool sp_inet_to_prefix(const struct sp_mib_inet *r, u_long plen, bool *set,
		       struct sp_prefix *out);
bool sp_range_from(u_long lo, u_long hi, bool *set, struct sp_port_range *out);
/* The first varbind of `cols` set in `blame`, else `fallback`. */
size_t sp_first_of(const size_t *blame, const int *cols, size_t n, size_t fallback);

#define SP_BLAME(blame, fallback, ...)                                                     \
	sp_first_of(blame, (const int[]){ __VA_ARGS__ },                                    \
		    sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int), fallback)

/* The sigproxyConfig and sigproxyRedundancy scalars of the PDU into the
 * candidate. */
int sp_build_scalars(struct sp_mib_build *b);

#endif
