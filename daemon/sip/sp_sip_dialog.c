#include "config.h"
#include "sp_sip_dialog.h"
#include "sp_endpoint.h"
#include "sp_log.h"
#include "sp_protocol.h"
#include "sp_sip.h"
#include "sp_table.h"

#include <string.h>

static bool sp_sip_dialog_is_initial_invite(const struct sp_sip_info *in)
{
	return in->is_request && in->method == SP_SIP_INVITE && !in->to_tag[0];
}

/* The dialog an initial INVITE opens, early; NULL when the table refused
 * it (*rc: why). */
static struct sp_dialog *sp_sip_dialog_open(struct sp_table *t, struct sp_binding *b,
					    const struct sp_sip_info *in, uint64_t now, int *rc)
{
	struct sp_dialog *dlg = NULL;
	struct sp_dialog_params p = {
		.binding = b,
		.call_id = in->call_id,
		.call_id_len = strlen(in->call_id),
		.from_tag = in->from_tag,
		.invite_cseq = in->cseq,
		.state = SP_DIALOG_EARLY,
	};

	*rc = sp_dialog_create(t, &p, now, &dlg);
	if (*rc < 0 && *rc != -SP_TABLE_ELIMIT) {
		static struct sp_log_limit lim = SP_LOG_LIMIT_INIT("engine: dialogs not tracked");
		char cid[SP_LOG_ESCAPED_MAX], src[SP_ENDPOINT_STRLEN];

		sp_log_limited(&lim, LOG_WARNING, "engine: cannot track dialog %s from %s: %s",
			       sp_log_escape(in->call_id, cid, sizeof(cid)),
			       sp_endpoint_format(&b->terminal, src, sizeof(src)), sp_table_strerror(*rc));
	}
	return *rc < 0 ? NULL : dlg;
}

/* A response to the dialog's INVITE or to its BYE. */
static void sp_sip_dialog_response(struct sp_table *t, struct sp_dialog *dlg,
				   const struct sp_sip_info *in, uint64_t now,
				   struct sp_proto_track *out)
{
	if (in->cseq_method == SP_SIP_INVITE && in->cseq == dlg->invite_cseq) {
		if (in->status >= 200 && in->status < 300) {
			if (in->to_tag[0] && !dlg->to_tag[0])
				sp_dialog_set_to_tag(dlg, in->to_tag);
			if (dlg->state == SP_DIALOG_EARLY)
				sp_dialog_set_state(t, dlg, SP_DIALOG_CONFIRMED, now);
		} else if (in->status >= 300 && dlg->state != SP_DIALOG_CONFIRMED) {
			/* the call failed or was cancelled: nothing more to keep */
			out->media_ends = out->deleted = true;
			sp_dialog_delete(t, dlg);
		} else if (in->status > 100 && in->to_tag[0] && !dlg->to_tag[0]) {
			sp_dialog_set_to_tag(dlg, in->to_tag);
		}
	} else if (in->cseq_method == SP_SIP_BYE && in->status >= 200) {
		out->media_ends = out->deleted = true;
		sp_dialog_delete(t, dlg);
	}
}

int sp_sip_dialog_track(struct sp_table *t, struct sp_binding *b, const struct sp_sip_info *in,
			uint64_t now_ms, struct sp_proto_track *out)
{
	struct sp_dialog *dlg = sp_dialog_find(t, b->vpn, in->call_id, strlen(in->call_id), b);

	memset(out, 0, sizeof(*out));
	if (!dlg && sp_sip_dialog_is_initial_invite(in)) {
		int rc;

		dlg = sp_sip_dialog_open(t, b, in, now_ms, &rc);
		if (rc == -SP_TABLE_ELIMIT)
			return SP_PROTO_OVER_LIMIT;
		out->created = dlg != NULL;
	}
	if (!dlg)
		return 0;
	out->dialog = dlg->id;
	sp_dialog_touch(t, dlg, now_ms);
	if (in->is_request) {
		if (in->method == SP_SIP_BYE || in->method == SP_SIP_CANCEL) {
			sp_dialog_set_state(t, dlg, SP_DIALOG_TERMINATING, now_ms);
			out->media_ends = true; /* the media ends with the call */
		}
		return 0;
	}
	sp_sip_dialog_response(t, dlg, in, now_ms, out);
	return 0;
}
