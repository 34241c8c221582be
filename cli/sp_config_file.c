/* The configuration file: loaded at start-up, on SIGHUP and `reload`, and
 * written by `write memory`. It sits beside the CLI grammar (a file is CLI
 * commands, run through sp_cli_load_file) and works on the config store;
 * the daemon context does not know about it. */
#include "config.h"
#include "sp_config_file.h"
#include "sp_cli.h"
#include "sp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <unistd.h>

/* Whether a configuration holds nothing an operator wrote: what an empty
 * or comments-only file (or one cut short before its first command) gives. */
static bool sp_config_is_empty(const struct sp_config *c)
{
	struct sp_config *defaults = sp_config_new();
	bool empty = defaults && sp_config_equal(c, defaults);

	sp_config_free(defaults);
	return empty;
}

int sp_config_file_load(struct sp_config_store *store, const char *path, bool missing_ok,
			bool force, struct sp_error *e)
{
	struct sp_config *cand;
	size_t n_changes = 0;

	if (missing_ok && access(path, F_OK) < 0 && errno == ENOENT) {
		sp_notice("config: %s does not exist; running with the defaults", path);
		return 0;
	}
	/* A file describes the whole configuration: start from the defaults, not
	 * from the running state, so that lines removed from it are removed. */
	cand = sp_config_new();
	if (!cand)
		return sp_error_set(e, "Out of memory");
	if (sp_cli_load_file(path, cand, e) < 0) {
		sp_config_free(cand);
		return -1;
	}
	/* An empty file wiping a working proxy is far more often a truncated
	 * write or the wrong file than an intent: only done when forced. */
	if (!force && sp_config_is_empty(cand) && !sp_config_is_empty(sp_config_store_current(store))) {
		sp_config_free(cand);
		return sp_error_set(e, "%s yields an empty configuration while the running one is not "
				    "empty: refused (use the CLI command \"reload force\" to apply it)", path);
	}
	if (sp_config_store_commit(store, cand, &n_changes, e) < 0)
		return -1;
	sp_notice("config: loaded %s (%zu change%s)%s", path, n_changes, n_changes == 1 ? "" : "s",
		  force ? ", forced" : "");
	return 0;
}

static int sp_fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, rc;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int sp_config_file_write(const struct sp_config_store *store, const char *path, struct sp_error *e)
{
	size_t len, off = 0;
	char *text = sp_config_to_text(sp_config_store_current(store), &len);
	char *tmp = NULL;
	int fd = -1;

	if (!text)
		return sp_error_set(e, "Out of memory");
	if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		free(text);
		return sp_error_set(e, "Out of memory");
	}
	/* temp file in the same directory, fsync, rename: a crash leaves either
	 * the old file or the new one, never half of one */
	fd = mkstemp(tmp);
	if (fd < 0) {
		sp_error_set(e, "Cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	fchmod(fd, 0600); /* it holds password hashes and the sync key */
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sp_error_set(e, "Cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		sp_error_set(e, "Cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		sp_error_set(e, "Cannot replace %s: %s", path, strerror(errno));
		goto fail;
	}
	sp_fsync_dir_of(path);
	sp_info("config: running configuration written to %s", path);
	free(tmp);
	free(text);
	return 0;
fail:
	sp_err("config: write memory failed: %s", e->msg);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(text);
	return -1;
}
