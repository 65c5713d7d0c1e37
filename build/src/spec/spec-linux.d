build/src/spec/spec-linux.o: src/spec/spec-linux.c src/common/cleanup.h \
 src/common/err.h src/common/xalloc.h src/spec/decode.h src/spec/json.h \
 src/spec/spec.h
src/common/cleanup.h:
src/common/err.h:
src/common/xalloc.h:
src/spec/decode.h:
src/spec/json.h:
src/spec/spec.h:
