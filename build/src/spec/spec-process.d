build/src/spec/spec-process.o: src/spec/spec-process.c \
 src/common/cleanup.h src/common/err.h src/common/xalloc.h \
 src/spec/decode.h src/spec/json.h src/spec/spec.h
src/common/cleanup.h:
src/common/err.h:
src/common/xalloc.h:
src/spec/decode.h:
src/spec/json.h:
src/spec/spec.h:
