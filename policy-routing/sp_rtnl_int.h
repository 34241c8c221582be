/* What the rtnetlink socket (sp_rtnl.c) and the message codec
 * (sp_rtnl_msg.c) share; nothing outside them uses it. */
#ifndef SP_RTNL_INT_H
#define SP_RTNL_INT_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

/* One request message (a rule or a route) fits in this much. */
#define SP_RTNL_SEND_LEN 1024

static inline size_t sp_rt_addr_len(int family)
{
	return family == AF_INET ? sizeof(struct in_addr) :
	       family == AF_INET6 ? sizeof(struct in6_addr) : 0;
}

static inline unsigned sp_rt_max_len(int family)
{
	return (unsigned)sp_rt_addr_len(family) * 8;
}

#endif
