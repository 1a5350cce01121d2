{
  "targets": [
    {
      "target_name": "pcapbatch",
      "sources": ["pcapbatch.c", "pcapread.c", "pcapshard.c", "udprecv.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpcap", "-lpthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
