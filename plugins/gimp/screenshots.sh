#!/usr/bin/env bash
# Makes the screenshots of plugins/gimp/README.md: runs GIMP 2.10 with the plug-in on a virtual
# screen (Xvfb, with the openbox window manager), uses it as a person would, with keys and the
# mouse sent by xdotool, and captures the screen after each step (ImageMagick's import). The
# pictures are cropped to the menus and dialogs, and reduced to 256 colours by pngquant.
#   plugins/gimp/screenshots.sh [OUT]     OUT: default docs/images/gimp
# Needs `scripts/setup gimp` (GIMP, its SDK, and the X tools above). The plug-in, libponder and
# the model are installed into a scratch folder with plugins/gimp/install, and GIMP runs with a
# scratch profile, so your own GIMP set-up is not touched. Takes a minute or two. It is a check
# as well: it fails, naming the step, when a dialog, layer or image does not appear.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out="${1:-docs/images/gimp}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in Xvfb openbox xdotool xwininfo xprop import convert pngquant gimp-2.10; do
    command -v "$tool" >/dev/null || { echo "screenshots: $tool is missing: run scripts/setup gimp" >&2; exit 1; }
done

# A fixed scratch folder: the dialogs show the model's path in it, so that another run makes
# the same pictures.
tmp=/tmp/ponder-screenshots
mkdir "$tmp" 2>/dev/null || { echo "screenshots: $tmp exists: another run is using it, or one was killed (then remove it)" >&2; exit 1; }
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "-- installing the plug-in into a scratch profile"
PONDER_PREFIX="$tmp" plugins/gimp/install "$tmp/profile/plug-ins" >/dev/null

echo "-- starting a virtual screen, a window manager and GIMP"
width=1280 height=800
Xvfb -displayfd 3 -screen 0 "${width}x${height}x24" -nolisten tcp 3>"$tmp/display" 2>"$tmp/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { cat "$tmp/xvfb.log" >&2; echo "screenshots: Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$(head -1 "$tmp/display")"
openbox >"$tmp/openbox.log" 2>&1 &
pids+=($!)
# A white RGB picture to draw on, larger than the model's 128 x 128, as a user's would be.
convert -size 384x384 xc:white "PNG24:$tmp/drawing.png"
env -u PONDER_MODEL GIMP2_DIRECTORY="$tmp/profile" gimp-2.10 -n -s "$tmp/drawing.png" >"$tmp/gimp.log" 2>&1 &
pids+=($!)

fail() {  # STEP: what did not happen; GIMP's log and the screen as it was
    grep -v -e 'theme engine' -e '^$' "$tmp/gimp.log" | tail -20 >&2
    local screen="${TMPDIR:-/tmp}/ponder-screenshots-failed.png"
    import -window root "$screen" 2>/dev/null && echo "the screen as it was: $screen" >&2
    echo "screenshots: FAILED: $*" >&2
    exit 1
}
# The id of the visible window whose title matches REGEX, waiting up to SECONDS for it.
window() {  # REGEX [SECONDS]
    local id
    for _ in $(seq $((${2:-60} * 5))); do
        id=$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1) || true
        [ -n "$id" ] && { echo "$id"; return 0; }
        sleep 0.2
    done
    return 1
}
gone() {  # REGEX: waits until no visible window's title matches it
    for _ in $(seq 300); do
        xdotool search --onlyvisible --name "$1" >/dev/null 2>&1 || return 0
        sleep 0.2
    done
    return 1
}
# GIMP's open menus: the visible override-redirect windows (menus, not dialogs or tooltips).
menus() {
    local id
    for id in $(xdotool search --onlyvisible --classname '^gimp-2.10$' 2>/dev/null); do
        xwininfo -id "$id" | grep -q 'Override Redirect State: yes' && echo "$id"
    done
}
wait_menus() {  # N: waits until N menus are open
    for _ in $(seq 50); do
        [ "$(menus | wc -l)" -ge "$1" ] && { sleep 0.3; return 0; }
        sleep 0.1
    done
    fail "a menu did not open ($1 expected)"
}
# A window's rectangle on the screen, with the window manager's frame: X Y W H.
frame() {  # ID
    local x y w h l=0 r=0 t=0 b=0 extents
    read -r x y w h < <(xwininfo -id "$1" | awk -F: '/Absolute upper-left X/ {x = $2} /Absolute upper-left Y/ {y = $2}
                                                 /^ *Width/ {w = $2} /^ *Height/ {h = $2} END {print x, y, w, h}')
    extents=$(xprop -id "$1" _NET_FRAME_EXTENTS | sed -n 's/.*= //p' | tr -d ' ')
    [ -n "$extents" ] && IFS=, read -r l r t b <<<"$extents"
    echo $((x - l)) $((y - t)) $((w + l + r)) $((h + t + b))
}
# The union of rectangles (X Y W H per line), grown by MARGIN and kept on the screen: WxH+X+Y.
crop_of() {  # MARGIN (rectangles on stdin)
    awk -v m="$1" -v sw="$width" -v sh="$height" '
        { if (NR == 1 || $1 < x0) x0 = $1; if (NR == 1 || $2 < y0) y0 = $2
          if (NR == 1 || $1 + $3 > x1) x1 = $1 + $3; if (NR == 1 || $2 + $4 > y1) y1 = $2 + $4 }
        END { x0 -= m; y0 -= m; x1 += m; y1 += m
              if (x0 < 0) x0 = 0; if (y0 < 0) y0 = 0; if (x1 > sw) x1 = sw; if (y1 > sh) y1 = sh
              printf "%dx%d+%d+%d\n", x1 - x0, y1 - y0, x0, y0 }'
}
shot() {  # NAME CROP: the screen, cropped, in 256 colours, as OUT/NAME.png
    import -window root "$tmp/screen.png"
    convert "$tmp/screen.png" -crop "$2" +repage "$tmp/$1.png"
    pngquant --force --strip --speed 1 --output "$out/$1.png" 256 -- "$tmp/$1.png"
    echo "wrote $out/$1.png ($(($(stat -c %s "$out/$1.png") / 1024)) KB)"
}
# Keeps the pointer off the widgets, where it would raise tooltips: on the main window's title.
park_pointer() { xdotool mousemove $((width / 2)) 4; }
focus() { xdotool windowactivate --sync "$1" >/dev/null 2>&1 || xdotool windowfocus --sync "$1"; }
# Filters → Render → Ponder, opened from the keyboard. Ponder is the last item but one of
# Render (Sphere Designer follows it); each step waits for its menu.
ponder_menu() {
    focus "$main"
    xdotool key alt+r; wait_menus 1
    xdotool key r; wait_menus 2
    xdotool key End Up Right; wait_menus 3
}
# Types into the focused dialog: the text field first, then the seed; ends with the focus on
# the text field, scrolled to its start.
fill() {  # DIALOG TEXT SEED
    focus "$1"
    xdotool key ctrl+a
    xdotool type --delay 15 "$2"
    xdotool key Tab ctrl+a
    xdotool type "$3"
    xdotool key shift+Tab Home
    sleep 0.5
}
layers() {  # N: waits until the main window's title says the image has N layers
    window "\($N_IMAGE_SUFFIX, $1 layers\) 384x384 – GIMP\$" 120 >/dev/null || fail "$2"
}
N_IMAGE_SUFFIX='RGB color 8-bit gamma integer, GIMP built-in sRGB'

main=$(window ' – GIMP$' 180) || fail "GIMP's window did not open"
# The whole screen for GIMP, less the frame's title bar, and the picture at 100%.
xdotool windowmove "$main" 0 0 windowsize "$main" "$width" $((height - 22))
sleep 2
focus "$main"
xdotool key 1
park_pointer
sleep 1

echo "-- Filters → Render → Ponder"
ponder_menu
main_box=$(frame "$main" | crop_of 0)
read -r _ main_y _ _ < <(xwininfo -id "$main" | awk -F: '/Absolute upper-left Y/ {print 0, $2, 0, 0}')
# The menus, and the menu bar above them (from the top of the window's client area).
menu_boxes=$(for m in $(menus); do frame "$m"; done)
shot ponder-menu "$(echo "$menu_boxes" | awk -v top="$main_y" '
    { if (NR == 1 || $1 < x0) x0 = $1; if ($1 + $3 > x1) x1 = $1 + $3; if ($2 + $4 > y1) y1 = $2 + $4 }
    END { print x0, top, x1 - x0 + 12, y1 - top + 12 }' | crop_of 0)"

echo "-- Generate"
prompt="a large purple heart to the right of a small green star on a beige background"
xdotool key g
dialog=$(window '^Ponder: Generate$') || fail "Filters → Render → Ponder → Generate… opened no dialog"
park_pointer
fill "$dialog" "$prompt" 3
shot generate-dialog "$(frame "$dialog" | crop_of 24)"
xdotool key Return
gone '^Ponder: Generate$' || fail "the Generate dialog did not close"
layers 2 "Generate added no layer"
sleep 1
shot generate-result "$main_box"

# Where the picture is on the screen: the largest beige area (the beige background; the
# layer thumbnails are beige too, but small, so an erosion removes them).
picture=$(convert "$tmp/screen.png" -fuzz 3% -fill black +opaque 'rgb(240,228,200)' -fill white \
              -opaque 'rgb(240,228,200)' -morphology Erode Rectangle:41x1 -morphology Erode Rectangle:1x41 \
              -format '%@' info:)
read -r pw ph px py < <(echo "$picture" | tr 'x+' '  ')
pw=$((pw + 40)) ph=$((ph + 40)) px=$((px - 20)) py=$((py - 20))
[ "$pw" -gt 300 ] && [ "$ph" -gt 300 ] || fail "the generated picture is not on the screen ($picture)"
screen_x() { echo $((px + $1 * pw / 384)); }  # an image pixel's place on the screen
screen_y() { echo $((py + $1 * ph / 384)); }

echo "-- Describe"
ponder_menu
xdotool key d
dialog=$(window '^Ponder: Describe$' 120) || fail "Describe showed no plan"
park_pointer
sleep 0.5
shot describe "$(frame "$dialog" | crop_of 24)"
focus "$dialog"
xdotool key Return
gone '^Ponder: Describe$' || fail "the Describe dialog did not close"

echo "-- Redraw Selection: the star's square becomes an orange triangle"
focus "$main"
xdotool key r  # the rectangle select tool
x0=$(screen_x 24) y0=$(screen_y 66) x1=$(screen_x 138) y1=$(screen_y 174)
xdotool mousemove "$x0" "$y0" mousedown 1
xdotool mousemove $(((x0 + x1) / 2)) $(((y0 + y1) / 2)); sleep 0.2
xdotool mousemove "$x1" "$y1"; sleep 0.2
xdotool mouseup 1
park_pointer
ponder_menu
xdotool key r
dialog=$(window '^Ponder: Redraw Selection$') || fail "Redraw Selection opened no dialog (no selection?)"
park_pointer
fill "$dialog" "a medium orange triangle" 1
# Moved aside, as a user would, so that the selection and the star in it show.
xdotool windowmove "$dialog" $((x1 + 30)) $((y0 - 20))
sleep 0.5
shot redraw-dialog "$( { frame "$dialog"; echo "$x0 $y0 $((x1 - x0)) $((y1 - y0))"; } | crop_of 24)"
xdotool key Return
gone '^Ponder: Redraw Selection$' || fail "the Redraw Selection dialog did not close"
layers 3 "Redraw Selection added no layer"
sleep 1
shot redraw-result "$main_box"

echo "-- Add Element"
focus "$main"
xdotool key shift+ctrl+a  # Select → None
ponder_menu
xdotool key a
dialog=$(window '^Ponder: Add Element$') || fail "Add Element opened no dialog"
park_pointer
fill "$dialog" "a small blue ring below the purple heart" 1
shot add-dialog "$(frame "$dialog" | crop_of 24)"
xdotool key Return
gone '^Ponder: Add Element$' || fail "the Add Element dialog did not close"
layers 4 "Add Element added no layer"
sleep 1
shot add-result "$main_box"

echo "-- an error: a word outside the prompt language"
ponder_menu
xdotool key g
dialog=$(window '^Ponder: Generate$') || fail "Generate opened no dialog"
park_pointer
fill "$dialog" "a red circel to the left of the purple heart" 5
xdotool key Return
message=$(window '^GIMP Message$' 120) || fail "a bad prompt gave no message"
sleep 0.5
shot error "$(frame "$message" | crop_of 24)"
focus "$message"
xdotool key Return
gone '^GIMP Message$' || fail "the message did not close"
layers 4 "the bad prompt left a layer"

echo "-- File → Create → Ponder → Generate…: a new image"
focus "$main"
xdotool key alt+f; wait_menus 1
xdotool key Down Right; wait_menus 2
xdotool key End Right; wait_menus 3
xdotool key g
dialog=$(window '^Ponder: Generate$') || fail "File → Create → Ponder → Generate… opened no dialog"
fill "$dialog" "a red circle to the left of a blue square" 4
xdotool key Return
window "\($N_IMAGE_SUFFIX, 1 layer\) 128x128 – GIMP\$" 120 >/dev/null \
    || fail "File → Create → Ponder → Generate… made no 128 x 128 image"
echo "ok: the screenshots are in $out"
