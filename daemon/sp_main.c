#include "config.h"
#include "sp_log.h"
int main(void) { sp_info("starting"); return 0; }
