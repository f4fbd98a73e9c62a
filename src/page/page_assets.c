/* The operator's page's files as the build embedded them (page_assets.h). */
#include "page/page_assets.h"

#include "build/gen/page_files.h" /* ops_html[], ops_js[]: xxd -i of src/page/ */

const struct http_admin_asset page_assets[PAGE_ASSET_COUNT] = {
    {"/ops", "text/html; charset=utf-8", ops_html, sizeof ops_html},
    {"/", "text/html; charset=utf-8", ops_html, sizeof ops_html},
    {"/ops.js", "text/javascript; charset=utf-8", ops_js, sizeof ops_js},
};
