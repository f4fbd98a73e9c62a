# The operator's page (src/page/, docs/page.md): its HTML and script are
# built into the binary as byte arrays, made by xxd -i.
PAGE_FILES = src/page/ops.html src/page/ops.js
GENERATED += build/gen/page_files.h

build/gen/page_files.h: $(PAGE_FILES)
	@mkdir -p $(dir $@)
	(cd src/page && xxd -i ops.html && xxd -i ops.js) | \
	    sed 's/^unsigned char/static const unsigned char/; /_len = /d' >$@.new
	mv $@.new $@

build/obj/src/page/page_assets.o build/san/src/page/page_assets.o \
build/clang/src/page/page_assets.o: build/gen/page_files.h
