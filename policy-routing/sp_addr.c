#include "config.h"
#include "sp_addr.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int sp_addr_local(const struct sp_rt_addr *addr, const char *ifname, bool add, struct sp_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned ifindex = if_nametoindex(ifname);
	uint32_t seq = (uint32_t)time(NULL);
	int rc = -1, n;

	if (!ifindex) {
		sp_error_set(err, "no interface %s", ifname);
		return -1;
	}
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		sp_error_set(err, "rtnetlink: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return -1;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = addr->family == AF_INET ? 32 : 128;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	if (addr->family == AF_INET) {
		mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr->v4), &addr->v4);
		mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr->v4), &addr->v4);
	} else {
		mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr->v6), &addr->v6);
		mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr->v6), &addr->v6);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		sp_error_set(err, "rtnetlink: %s", strerror(errno));
		goto out;
	}
	n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0) {
		if ((add && errno == EEXIST) || (!add && (errno == EADDRNOTAVAIL || errno == ENOENT)))
			rc = 0;
		else
			sp_error_set(err, "%s address on %s: %s", add ? "adding" : "removing", ifname,
				 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	mnl_socket_close(nl);
	return rc;
}

static void sp_addr_sysctl_path(const char *ifname, const char *key, char *path, size_t len)
{
	snprintf(path, len, "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
}

int sp_addr_sysctl_get(const char *ifname, const char *key, int *value)
{
	char path[256];
	FILE *f;
	int rc;

	sp_addr_sysctl_path(ifname, key, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return -1;
	rc = fscanf(f, "%d", value) == 1 ? 0 : -1;
	fclose(f);
	return rc;
}

int sp_addr_sysctl_set(const char *ifname, const char *key, int value, struct sp_error *err)
{
	char path[256];
	FILE *f;

	sp_addr_sysctl_path(ifname, key, path, sizeof(path));
	f = fopen(path, "w");
	if (!f) {
		sp_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fprintf(f, "%d\n", value) < 0) {
		sp_error_set(err, "%s: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		sp_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
