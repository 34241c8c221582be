/* sp-tagpeer IFNAME VID: for the integration tests' terminals, which have no
 * 802.1Q either: attaches sigproxy's tc-BPF tagger on IFNAME in peer mode
 * (every frame leaves tagged with VID, frames tagged VID arrive untagged) and
 * exits, leaving it attached (the namespace's removal takes it away). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "sp_bpf.h"

int main(int argc, char **argv)
{
	struct sp_bpf *b;
	char err[256];
	long vid;

	if (argc != 3 || (vid = strtol(argv[2], NULL, 10)) < 1 || vid > 4094) {
		fprintf(stderr, "usage: sp-tagpeer IFNAME VID (1-4094)\n");
		return 2;
	}
	if (sp_bpf_open(&b, err, sizeof(err)) < 0 ||
	    sp_bpf_attach(b, argv[1], SP_BPF_PEER, (uint32_t)vid, err, sizeof(err)) < 0) {
		fprintf(stderr, "sp-tagpeer: %s\n", err);
		return 1;
	}
	sp_bpf_close(b, false);
	return 0;
}
