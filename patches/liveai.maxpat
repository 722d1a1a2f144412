{
 "patcher": {
  "fileversion": 1,
  "appversion": {
   "major": 8,
   "minor": 5,
   "revision": 0,
   "architecture": "x64",
   "modernui": 1
  },
  "classnamespace": "box",
  "rect": [
   100.0,
   100.0,
   1160.0,
   560.0
  ],
  "boxes": [
   {
    "box": {
     "id": "comment",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      10,
      640,
      40
     ],
     "text": "liveai over OSC: [udpsend] talks to liveai on 127.0.0.1:9000, [udpreceive 9001] hears everything liveai sends (the defaults). Click a message, or play a MIDI keyboard into Max."
    }
   },
   {
    "box": {
     "id": "msg0",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20,
      60,
      140,
      22.0
     ],
     "text": "/liveai/note 60 100",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg1",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      170,
      60,
      140,
      22.0
     ],
     "text": "/liveai/note 60 0",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg2",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      320,
      60,
      140,
      22.0
     ],
     "text": "/liveai/mode harmonize",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg3",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      470,
      60,
      140,
      22.0
     ],
     "text": "/liveai/mode thru",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg4",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      620,
      60,
      140,
      22.0
     ],
     "text": "/liveai/ping 1",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg5",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20,
      90,
      140,
      22.0
     ],
     "text": "/liveai/status",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg6",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      170,
      90,
      140,
      22.0
     ],
     "text": "/liveai/tempo 96",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg7",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      320,
      90,
      140,
      22.0
     ],
     "text": "/liveai/play",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg8",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      470,
      90,
      140,
      22.0
     ],
     "text": "/liveai/stop",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "msg9",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      620,
      90,
      140,
      22.0
     ],
     "text": "/liveai/panic",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "notein",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      20,
      140,
      60,
      22.0
     ],
     "text": "notein",
     "outlettype": [
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pack",
     "maxclass": "newobj",
     "numinlets": 3,
     "numoutlets": 1,
     "patching_rect": [
      20,
      170,
      80,
      22.0
     ],
     "text": "pack 0 0 0",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "prepend",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20,
      200,
      140,
      22.0
     ],
     "text": "prepend /liveai/note",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "udpsend",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      240,
      160,
      22.0
     ],
     "text": "udpsend 127.0.0.1 9000",
     "outlettype": []
    }
   },
   {
    "box": {
     "id": "udpreceive",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      20,
      300,
      120,
      22.0
     ],
     "text": "udpreceive 9001",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "route",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 5,
     "patching_rect": [
      20,
      330,
      420,
      22.0
     ],
     "text": "route /liveai/out/note /liveai/out/beat /liveai/pong /liveai/error",
     "outlettype": [
      "",
      "",
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "unpack",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      20,
      360,
      90,
      22.0
     ],
     "text": "unpack 0 0 0",
     "outlettype": [
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "noteout",
     "maxclass": "newobj",
     "numinlets": 3,
     "numoutlets": 0,
     "patching_rect": [
      20,
      390,
      60,
      22.0
     ],
     "text": "noteout",
     "outlettype": []
    }
   },
   {
    "box": {
     "id": "print",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      300,
      390,
      90,
      22.0
     ],
     "text": "print liveai",
     "outlettype": []
    }
   },
   {
    "box": {
     "id": "morph_comment",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      700,
      140,
      300,
      40
     ],
     "text": "morph: play a phrase, capture a; another, capture b; then morph mode, play, and turn the knob (0-1)"
    }
   },
   {
    "box": {
     "id": "morph_a",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      700,
      180,
      140,
      22.0
     ],
     "text": "/liveai/morph/capture a",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "morph_b",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      850,
      180,
      140,
      22.0
     ],
     "text": "/liveai/morph/capture b",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "morph_mode",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      700,
      210,
      140,
      22.0
     ],
     "text": "/liveai/mode morph",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "morph_knob",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      700,
      240,
      140,
      22.0
     ],
     "orientation": 1,
     "size": 128.0,
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "morph_scale",
     "maxclass": "newobj",
     "numinlets": 6,
     "numoutlets": 1,
     "patching_rect": [
      700,
      270,
      140,
      22.0
     ],
     "text": "scale 0 127 0. 1.",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "morph_prepend",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      700,
      300,
      140,
      22.0
     ],
     "text": "prepend /liveai/morph",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "play_comment",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      700,
      340,
      300,
      54
     ],
     "text": "duet: play a phrase and pause, liveai answers (or ask now: continue). autopilot: liveai plays on its own, steered by key, register, density and temperature"
    }
   },
   {
    "box": {
     "id": "play0",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      700,
      400,
      140,
      22.0
     ],
     "text": "/liveai/mode duet"
    }
   },
   {
    "box": {
     "id": "play1",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      850,
      400,
      140,
      22.0
     ],
     "text": "/liveai/continue 8"
    }
   },
   {
    "box": {
     "id": "play2",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      700,
      430,
      140,
      22.0
     ],
     "text": "/liveai/mode autopilot"
    }
   },
   {
    "box": {
     "id": "play3",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      850,
      430,
      140,
      22.0
     ],
     "text": "/liveai/density 0.7"
    }
   },
   {
    "box": {
     "id": "play4",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      700,
      460,
      140,
      22.0
     ],
     "text": "/liveai/temperature 0.8"
    }
   },
   {
    "box": {
     "id": "play5",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      850,
      460,
      140,
      22.0
     ],
     "text": "/liveai/register 48 84"
    }
   },
   {
    "box": {
     "id": "play6",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      700,
      490,
      140,
      22.0
     ],
     "text": "/liveai/key \"A minor\""
    }
   },
   {
    "box": {
     "id": "play7",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      850,
      490,
      140,
      22.0
     ],
     "text": "/liveai/key D dorian"
    }
   },
   {
    "box": {
     "id": "play8",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      1000,
      490,
      140,
      22.0
     ],
     "text": "/liveai/key C major"
    }
   },
   {
    "box": {
     "id": "ports_comment",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      200,
      230,
      300,
      40
     ],
     "text": "other ports: edit and click (port N sets where [udpsend] sends, and where [udpreceive] listens)"
    }
   },
   {
    "box": {
     "id": "send_port",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      200,
      270,
      80,
      22.0
     ],
     "text": "port 9000"
    }
   },
   {
    "box": {
     "id": "send_host",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      290,
      270,
      110,
      22.0
     ],
     "text": "host 127.0.0.1"
    }
   },
   {
    "box": {
     "id": "receive_port",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "outlettype": [
      ""
     ],
     "patching_rect": [
      150,
      300,
      80,
      22.0
     ],
     "text": "port 9001"
    }
   }
  ],
  "lines": [
   {
    "patchline": {
     "source": [
      "notein",
      0
     ],
     "destination": [
      "pack",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "notein",
      1
     ],
     "destination": [
      "pack",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "notein",
      2
     ],
     "destination": [
      "pack",
      2
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pack",
      0
     ],
     "destination": [
      "prepend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "prepend",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg0",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg1",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg2",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg3",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg4",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg5",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg6",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg7",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg8",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "msg9",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "udpreceive",
      0
     ],
     "destination": [
      "route",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      0
     ],
     "destination": [
      "unpack",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "unpack",
      2
     ],
     "destination": [
      "noteout",
      2
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "unpack",
      1
     ],
     "destination": [
      "noteout",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "unpack",
      0
     ],
     "destination": [
      "noteout",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      1
     ],
     "destination": [
      "print",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      2
     ],
     "destination": [
      "print",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      3
     ],
     "destination": [
      "print",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      4
     ],
     "destination": [
      "print",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_a",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_b",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_mode",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_knob",
      0
     ],
     "destination": [
      "morph_scale",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_scale",
      0
     ],
     "destination": [
      "morph_prepend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "morph_prepend",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play0",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play1",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play2",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play3",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play4",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play5",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play6",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play7",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "play8",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "send_port",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "send_host",
      0
     ],
     "destination": [
      "udpsend",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "receive_port",
      0
     ],
     "destination": [
      "udpreceive",
      0
     ]
    }
   }
  ]
 }
}
