/* The operator's page's files (src/page/ops.html, ops.js), built into the
 * binary (mk/page.mk) and served by the admin interface without the token:
 * they hold no data; the page asks /cluster for it (docs/page.md). */
#ifndef NODOWN_PAGE_PAGE_ASSETS_H
#define NODOWN_PAGE_PAGE_ASSETS_H

#include <stdint.h>

#include "gateway/http_admin.h"

#define PAGE_ASSET_COUNT 3u

/* The page at /ops and at /, its script at /ops.js. */
extern const struct http_admin_asset page_assets[PAGE_ASSET_COUNT];

#endif
