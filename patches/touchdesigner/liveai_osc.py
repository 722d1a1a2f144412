# CHOP Execute DAT callbacks for TouchDesigner: send the channels of a CHOP to liveai.
# Point this DAT at a CHOP whose channels are named like liveai addresses
# (liveai/temperature, liveai/tempo, liveai/morph, liveai/density) and add an
# OSC Out DAT named 'oscout1' sending to 127.0.0.1:9000.

def onValueChange(channel, sampleIndex, val, prev):
    op('oscout1').sendOSC('/' + channel.name, [float(val)])
    return


def play_note(pitch, velocity=100):
    """Call from anywhere: op('liveai_osc').module.play_note(60)."""
    op('oscout1').sendOSC('/liveai/note', [int(pitch), int(velocity)])


def stop_note(pitch):
    op('oscout1').sendOSC('/liveai/note', [int(pitch), 0])


def capture(slot):
    """Morph: the last two bars played go into slot 'a' or 'b' (a Button's callback)."""
    op('oscout1').sendOSC('/liveai/morph/capture', [str(slot)])


def start_morph():
    """Loop the morph pattern; then the liveai/morph channel (0-1) turns the knob."""
    op('oscout1').sendOSC('/liveai/mode', ['morph'])
    op('oscout1').sendOSC('/liveai/play', [])
