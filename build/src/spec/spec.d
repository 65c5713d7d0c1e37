build/src/spec/spec.o: src/spec/spec.c src/spec/spec.h \
 src/common/cleanup.h src/common/err.h src/common/file.h src/common/log.h \
 src/common/xalloc.h src/spec/decode.h src/spec/json.h
src/spec/spec.h:
src/common/cleanup.h:
src/common/err.h:
src/common/file.h:
src/common/log.h:
src/common/xalloc.h:
src/spec/decode.h:
src/spec/json.h:
