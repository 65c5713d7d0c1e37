build/src/spec/spec-names.o: src/spec/spec-names.c src/spec/decode.h \
 src/spec/json.h src/spec/spec.h
src/spec/decode.h:
src/spec/json.h:
src/spec/spec.h:
