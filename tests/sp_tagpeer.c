/* sp-tagpeer IFNAME {vlan VID | mpls LABEL}: for the integration tests'
 * terminals, which have neither 802.1Q nor MPLS: attaches sigproxy's BPF
 * tagger on IFNAME in peer mode (every frame leaves tagged with VID, or
 * every IP packet labelled LABEL; tagged/labelled frames arrive plain) and
 * exits, leaving it attached (the namespace's removal takes it away). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_bpf.h"

int main(int argc, char **argv)
{
	struct sp_bpf *b;
	struct sp_error err = { "" };
	struct sp_bpf_tag tag = { 0 };
	long v = argc == 4 ? strtol(argv[3], NULL, 10) : 0;

	if (argc == 4 && strcmp(argv[2], "vlan") == 0 && v >= 1 && v <= 4094)
		tag.kind = SP_BPF_TAG_VLAN;
	else if (argc == 4 && strcmp(argv[2], "mpls") == 0 && v >= 16 && v <= 1048575)
		tag.kind = SP_BPF_TAG_MPLS;
	if (!tag.kind) {
		fprintf(stderr, "usage: sp-tagpeer IFNAME {vlan VID (1-4094) | mpls LABEL (16-1048575)}\n");
		return 2;
	}
	tag.value = (uint32_t)v;
	if (sp_bpf_open(&b, &err) < 0 ||
	    sp_bpf_attach(b, argv[1], SP_BPF_PEER, &tag, &err) < 0) {
		fprintf(stderr, "sp-tagpeer: %s\n", err.msg);
		return 1;
	}
	sp_bpf_close(b, false);
	return 0;
}
