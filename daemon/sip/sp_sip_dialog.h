/* SIP dialog tracking (RFC 3261 §12): what a message does to the dialog it
 * belongs to in the state table, the protocol seam's track operation for
 * SIP (sp_sip_protocol). An initial INVITE creates an early dialog, its 2xx
 * confirms it, a failure ends it, BYE and CANCEL end it and their answer
 * removes it. */
#ifndef SP_SIP_DIALOG_H
#define SP_SIP_DIALOG_H

#include <stdint.h>

struct sp_table;
struct sp_binding;
struct sp_sip_info;
struct sp_proto_track;

/* 0, or SP_PROTO_OVER_LIMIT when a new dialog would exceed the session
 * limit (nothing changed); out says which dialog and whether its media ends. */
int sp_sip_dialog_track(struct sp_table *t, struct sp_binding *b, const struct sp_sip_info *in,
			uint64_t now_ms, struct sp_proto_track *out);

#endif
